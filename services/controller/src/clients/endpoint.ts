import net from 'node:net';
import { InvalidArgumentError } from '@agenstra/shared';

export interface ParsedEndpoint {
  /** Host name or IP address, IPv6 without brackets. */
  host: string;
  port: number;
}

const HOST_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses a manager endpoint `host:port` (IPv6 hosts in brackets), refusing anything else. */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(endpoint);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  const validHost =
    match?.[1] !== undefined ? net.isIPv6(match[1]) : !!host && HOST_NAME.test(host);
  if (!match || !host || !validHost || port < 1 || port > 65535) {
    throw new InvalidArgumentError(
      `client.endpoint ${JSON.stringify(endpoint)} is not host:port ` +
        '(a host name or IP address, IPv6 in brackets, and a port from 1 to 65535)',
    );
  }
  return { host, port };
}

/**
 * The single place where the controller decides whether it may connect to an endpoint at all.
 * Issue 8 adds the SSRF rules here: refuse loopback, link-local and private addresses unless the
 * operator's allow-list names them, and re-check after every DNS resolution. Until then every
 * syntactically valid endpoint is allowed.
 */
export function checkEndpointPolicy(endpoint: ParsedEndpoint): void {
  void endpoint;
}
