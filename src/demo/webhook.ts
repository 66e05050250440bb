import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the demo's webhook receiver read of one notification (docs/webhook-payload.schema.json). */
export interface DemoAlert {
  status: string;
  alert: string;
  target: string;
}

export interface DemoWebhook {
  url: string;
  close(): Promise<void>;
}

/** Bodies larger than this are cut off: the receiver only reads status, alert and target. */
const MAX_BODY = 1 << 20;

/**
 * A webhook receiver on 127.0.0.1 for the demo's alert rule: answers 204 to every POST and hands each notification
 * it can read to `onAlert`, so the demo shows an alert firing and resolving end to end.
 */
export async function startDemoWebhook(onAlert: (a: DemoAlert) => void): Promise<DemoWebhook> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      res.writeHead(204).end();
      try {
        const n = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<DemoAlert>;
        if (typeof n.status === 'string' && typeof n.alert === 'string' && typeof n.target === 'string') {
          onAlert({ status: n.status, alert: n.alert, target: n.target });
        }
      } catch {
        // Not a notification: answered all the same.
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
