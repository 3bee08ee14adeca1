/** Reads a Server-Sent Events response until `until` appears in the text (or the stream ends), then aborts it. */
export async function readSseUntil(response: Response, until: string, controller: AbortController): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!text.includes(until)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
  } finally {
    controller.abort();
  }
  return text;
}
