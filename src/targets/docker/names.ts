/** Labels, container names and image references of the docker target. */
export const LABEL = {
  app: 'dev.gantry.app',
  target: 'dev.gantry.target',
  release: 'dev.gantry.release',
  instance: 'dev.gantry.instance',
  commit: 'dev.gantry.commit',
  role: 'dev.gantry.role',
} as const;

/** Release ids carry uppercase T/Z; image tags allow them, repositories do not. */
export const imageRepo = (app: string): string => `gantry/${app}`;
export const imageRef = (app: string, release: string): string => `${imageRepo(app)}:${release}`;
export const containerName = (app: string, target: string, instance: string): string => `gantry-${app}-${target}-${instance}`;
export const volumeName = (app: string, target: string, name: string): string => `gantry-${app}-${target}-${name.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
