/**
 * Splits a byte stream into parsed JSON lines. A malformed line is an error naming its line number. Leaving
 * the loop early cancels the stream.
 */
export async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffered = "";
  let lineNo = 0;
  const parse = (line: string): unknown => {
    lineNo++;
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`NDJSON line ${lineNo} is not valid JSON: ${line.slice(0, 120)}`);
    }
  };
  const reader = body.getReader();
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield parse(line);
        newline = buffered.indexOf("\n");
      }
    }
    ended = true;
  } finally {
    // A consumer that stops early (break, an error) lets go of the connection.
    if (!ended) await reader.cancel().catch(() => {});
  }
  buffered += decoder.decode();
  if (buffered.trim()) yield parse(buffered.trim());
}
