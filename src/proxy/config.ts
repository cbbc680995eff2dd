/** The --config file: Toxiproxy's populate format, a JSON array of {name, listen, upstream, enabled}. */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { ApiError } from './api-error.ts';
import type { ProxyJson } from './proxy.ts';
import { parseProxyBody } from './registry.ts';

export async function loadProxyConfig(file: string): Promise<ProxyJson[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the proxy config ${file}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`, {
      hint: 'it is a JSON array like [{"name": "db", "listen": "127.0.0.1:15432", "upstream": "127.0.0.1:5432"}]',
    });
  }
  if (!Array.isArray(raw)) {
    throw new UsageError(`${file} must hold a JSON array of proxies (Toxiproxy's populate format)`);
  }
  return raw.map((entry, i) => {
    try {
      const p = parseProxyBody(entry, { name: '', listen: '', upstream: '', enabled: true });
      if (p.name === '') throw new ApiError('missing required field: name', 400);
      if (p.upstream === '') throw new ApiError('missing required field: upstream', 400);
      return p;
    } catch (e) {
      throw new UsageError(`${file}: proxy ${i + 1}: ${(e as Error).message}`);
    }
  });
}
