/** Request shapes shared by the routes (strict: an unknown field is a 400). */
import { z } from 'zod';
import { ID_RE } from '../ids.js';

export const Id = z.string().regex(ID_RE, 'an id or name: lowercase letters, digits, "-" and "_" (at most 64), no path characters');
export const SecretName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'upper case letters, digits and "_", not starting with a digit');
export const RoleSchema = z.enum(['viewer', 'deployer', 'admin']);
export const TargetQuery = z.strictObject({ target: Id.optional() });
export const TargetBody = z.strictObject({ target: Id.optional() }).default({});
export const AnyOut = z.any();
export const ErrorOut = z.object({ error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional(), problems: z.any().optional() }) });

/** The role a route needs, written in its OpenAPI description (the route walk test reads it). */
export const needs = (role: 'viewer' | 'deployer' | 'admin' | 'server-admin', what: string): string => `${what} Requires role: ${role}.`;
