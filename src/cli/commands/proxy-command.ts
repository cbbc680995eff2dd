import { ExitCode, UsageError } from '../../errors.ts';
import { loadProxyConfig } from '../../proxy/config.ts';
import { startProxyServer } from '../../proxy/server.ts';
import type { RegisterCommand } from '../context.ts';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0..65535, got ${v}`);
  return n;
}

export const registerProxy: RegisterCommand = (program, ctx) => {
  program
    .command('proxy')
    .description('run the built-in Toxiproxy-compatible fault proxy (HTTP API + TCP proxies)')
    .option('--host <host>', 'address of the HTTP API', '127.0.0.1')
    .option('--port <port>', 'port of the HTTP API', '8474')
    .option('--config <file>', "proxies to create at start (Toxiproxy's populate JSON format)")
    .addHelpText(
      'after',
      '\nExample:\n  $ auditchaos proxy --host 0.0.0.0 --port 8474 --config proxies.json\n  $ curl -s localhost:8474/proxies\n',
    )
    .action(async (opts: { host: string; port: string; config?: string }) => {
      const port = parsePort(opts.port);
      const proxies = opts.config ? await loadProxyConfig(opts.config) : [];
      const server = await startProxyServer({ host: opts.host, port, proxies, signal: ctx.signal });
      if (ctx.signal.aborted) {
        await server.close(); // interrupted while starting: never claim to be ready
        return;
      }
      ctx.output.out(`auditchaos proxy listening on ${server.url}`);
      for (const p of server.proxies()) {
        ctx.output.err(
          ctx.output.color.dim(
            `proxy ${p.name}: ${p.listen} -> ${p.upstream}${p.enabled ? '' : ' (disabled)'}`,
          ),
        );
      }
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
      ctx.setExitCode(ExitCode.ok);
    });
};
