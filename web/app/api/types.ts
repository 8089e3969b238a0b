/** The shapes the dashboard reads from the API (web/ talks to the server over HTTP only: no import from src/). */
export interface Me {
  key_id: string;
  name: string;
  role: 'viewer' | 'deployer' | 'admin';
  project: string | null;
}

export interface Project {
  id: string;
  name: string;
}

export interface AppSummary {
  name: string;
  project: string;
}

export interface Instance {
  id: string;
  release: string;
  healthy: boolean;
  routed: boolean;
  url: string;
  state: string;
  restarts: number;
  node?: string;
}

export interface TargetStatus {
  target: string;
  type: string;
  release?: string;
  state: string;
  url?: string;
  instances: Instance[];
  nodes?: Array<{ node: string; state: string; instances: number; serving: number; error?: string }>;
  deploying?: { kind?: string; release?: string; phase: string; waiting?: string };
  last_deployment?: { id: string; kind: string; status: string; release?: string; reason?: string };
}

export interface AppStatus {
  app: string;
  targets: TargetStatus[];
}

export interface Deployment {
  id: string;
  project: string;
  app: string;
  target: string;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'rolled_back' | 'cancelled';
  deployment_type?: string;
  adapter?: string;
  external_id: string | null;
  access_url: string | null;
  registry_image: string | null;
  release: string | null;
  error: string | null;
  requested_by: string;
  trigger?: { by: string; via: string };
  config?: { platform_config: Record<string, unknown>; env_vars: Record<string, string>; env: string | null; force: boolean; release: string | null };
  duration_ms?: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result?: Record<string, any>;
}

export interface StepEvent {
  seq: number;
  at: string;
  level: 'info' | 'warn' | 'error';
  step?: string;
  message: string;
  data?: any;
}

export interface Release {
  release: string;
  version: string;
  created_at: string;
  status: string;
  current: boolean;
  commit?: string;
}

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  enum?: unknown[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  const?: unknown;
}

export interface TargetType {
  type: string;
  summary: string;
  ready: boolean;
  prerequisites: DoctorCheck[];
  config_schema: JsonSchema;
}

export interface LogLine {
  at?: string;
  node?: string;
  instance: string;
  stream: string;
  text: string;
}

export const FINAL = ['succeeded', 'failed', 'rolled_back', 'cancelled'];
