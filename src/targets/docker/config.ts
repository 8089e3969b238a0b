import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';
import { parseSize } from '../../core/size.js';

const Volume = z
  .string()
  .regex(/^[^:]+:\/[^:]*(:(ro|rw))?$/, { error: 'a volume is "NAME:/container/path" or "./host/path:/container/path" (optionally ":ro")' })
  .describe('A named volume ("data:/app/data") or a bind mount relative to gantry.yaml ("./config:/app/config:ro").');

export const dockerConfigSchema = z
  .object({
    port: z.number().int().min(1).max(65535).optional().describe("Public port of Gantry's proxy (the stable access URL). Default: chosen on first deploy and kept."),
    host: z.string().default(DEFAULTS.proxy.host).describe('Address the proxy listens on.'),
    docker_host: z.string().optional().describe('Docker engine to use (like DOCKER_HOST), e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375.'),
    volumes: z.array(Volume).default(() => []),
    resources: z
      .object({
        memory: z.string().refine((v) => parseSize(v) !== undefined, { error: 'memory is a size such as "512Mi" or "1g"' }).optional(),
        cpus: z.number().positive().max(1024).optional(),
      })
      .strict()
      .optional(),
    restart: z.enum(['no', 'always', 'unless-stopped', 'on-failure']).default('unless-stopped').describe('Docker restart policy of app containers.'),
    registry: z.string().optional().describe('Default registry/namespace for `gantry push`, e.g. 127.0.0.1:5000/team.'),
    secrets_as_files: z.boolean().default(false).describe('Pass secrets as files under /run/secrets/ instead of environment variables.'),
    network: z.string().optional().describe('Docker network to attach app containers to (default: the bridge).'),
  })
  .strict();

export type DockerConfig = z.output<typeof dockerConfigSchema>;
