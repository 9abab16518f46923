// The product's structured logger (pino, JSON lines). Every process of the product names itself with
// `component`; LOG_LEVEL sets the level. The test bed has its own logger (e2e/testbed/log.ts).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component } });
}
