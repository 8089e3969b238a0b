import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';

export const processConfigSchema = z
  .object({
    port: z.number().int().min(1).max(65535).optional().describe('Public port of Gantry\'s proxy (the stable access URL). Default: a free port chosen on first deploy and kept.'),
    host: z.string().default(DEFAULTS.proxy.host).describe('Address the proxy listens on.'),
  })
  .strict();

export type ProcessConfig = z.output<typeof processConfigSchema>;
