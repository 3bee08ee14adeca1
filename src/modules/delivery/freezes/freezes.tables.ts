/** Freezes set through the API (incidents, manual emergency freezes); Freeze resources live in the resource store. */
export interface DeliveryFreezesTable {
  key: string;
  /** A service name or '*'. */
  service: string;
  reason: string;
  created_at: number;
  created_by: string;
  /** Set when lifted; the row stays as history until the key is frozen again. */
  lifted_at: number | null;
  lifted_by: string | null;
}

/** What the window watcher last announced for a Freeze resource, so started/lifted events fire once per change. */
export interface DeliveryFreezeWindowsTable {
  name: string;
  /** JSON array of the services announced as frozen; '[]' when not in force. */
  services: string;
  updated_at: number;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    delivery_freezes: DeliveryFreezesTable;
    delivery_freeze_windows: DeliveryFreezeWindowsTable;
  }
}
