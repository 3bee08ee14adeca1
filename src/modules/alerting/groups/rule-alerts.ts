import type { Subscriber } from '../../../core/events/events.js';
import type { Core } from '../../../core/module.js';
import { ALERT_EVENTS } from '../rules/evaluate.js';
import { ingestGroup } from './groups.service.js';

interface RuleAlertEvent {
  id: string;
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  activeAt: number;
}

/** opsdeck's own rules feed alert groups like any intake: one group per rule, one alert per series. */
export function ruleAlertsSubscriber(core: Core): Subscriber {
  return {
    id: 'alerting.rule-alerts-to-groups',
    types: [ALERT_EVENTS.firing, ALERT_EVENTS.resolved],
    async handle(event, tx) {
      const d = event.data as RuleAlertEvent;
      const firing = event.type === ALERT_EVENTS.firing;
      await ingestGroup(
        core,
        tx,
        {
          source: 'rule',
          integration: null,
          key: d.rule,
          service: d.labels.service ?? event.service,
          title: d.annotations.summary ?? d.labels.alertname ?? d.rule,
          groupLabels: { alertname: d.labels.alertname ?? '' },
          alerts: [
            {
              fingerprint: d.id,
              status: firing ? 'firing' : 'resolved',
              labels: d.labels,
              annotations: d.annotations,
              startsAt: d.activeAt,
              endsAt: null,
            },
          ],
        },
        event.at,
      );
    },
  };
}
