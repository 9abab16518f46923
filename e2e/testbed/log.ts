// The test bed's structured logger: progress of long steps goes to stderr so stdout stays machine-readable.
import { pino } from 'pino';

export const log = pino({ name: 'testbed', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
