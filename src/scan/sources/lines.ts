/**
 * Splits a byte stream into text lines, batch by batch (one batch a chunk), with 1-based line
 * numbers. UTF-8 characters split across chunks are reassembled (StringDecoder); CRLF is accepted.
 */
import { StringDecoder } from 'node:string_decoder';

export interface LineBatch {
  /** Line number of lines[0]. */
  firstLine: number;
  lines: string[];
}

export async function* splitLines(chunks: AsyncIterable<Buffer | string>): AsyncIterable<LineBatch> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 1;
  for await (const chunk of chunks) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(text.slice(start, end));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (lines.length) {
      yield { firstLine: lineNo, lines };
      lineNo += lines.length;
    }
  }
  const rest = carry + decoder.end();
  if (rest.length) yield { firstLine: lineNo, lines: [rest.endsWith('\r') ? rest.slice(0, -1) : rest] };
}
