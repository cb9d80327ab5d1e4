/**
 * DNS host names as Hyper-V accepts them for servers: letters, digits and hyphens in labels of at
 * most 63 characters, no IP literals. Names compare case-insensitively, so they are kept lower-case.
 */
import { isIP } from 'node:net';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function isDnsName(name: string): boolean {
  const value = name.toLowerCase().replace(/\.$/, '');
  if (value.length === 0 || value.length > 253 || isIP(value) !== 0) return false;
  const labels = value.split('.');
  // An all-numeric last label would make "10.0.0.1"-like names; DNS top-level domains are never numeric.
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels.at(-1)!);
}

export function isFqdn(name: string): boolean {
  return isDnsName(name) && name.replace(/\.$/, '').includes('.');
}

export function normalizeDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
