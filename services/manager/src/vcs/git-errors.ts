import {
  AlreadyExistsError,
  type DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from '@agenstra/shared';

const MAX_MESSAGE_CHARS = 1000;

/**
 * Removes secrets from git's output: each given secret (also URL-encoded) and any user:password
 * written into a URL.
 */
export function scrubSecrets(text: string, secrets: string[]): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret.length < 3) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      scrubbed = scrubbed.split(form).join('***');
    }
  }
  return scrubbed.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
}

/** git's stderr as one readable line: without hints, "error:"/"fatal:" prefixes and blank lines. */
export function readableGitMessage(stderr: string, secrets: string[] = []): string {
  const lines = scrubSecrets(stderr, secrets)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('hint:'))
    .map((line) => line.replace(/^(error|fatal|warning|remote): /, ''));
  const message = lines.join('; ');
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}...` : message;
}

/** Maps a failed git command to the gRPC status its cause deserves. */
export function gitError(
  operation: string,
  output: { stdout: Buffer | string; stderr: string },
  secrets: string[] = [],
): DomainError {
  const text = `${output.stderr}\n${output.stdout.toString()}`;
  const message = `${operation}: ${readableGitMessage(text, secrets) || 'git failed'}`;
  if (/not a git repository/i.test(text)) {
    return new FailedPreconditionError(`${operation}: the workspace is not a git repository`);
  }
  if (/Host key verification failed/i.test(text)) {
    // Not the caller's credentials but the server's identity: ssh's own output (a banner and the
    // offered key's fingerprint) is replaced by one line that says what to check.
    return new FailedPreconditionError(
      `${operation}: the remote's SSH host key does not match the pinned known_hosts (host key verification failed); check ssh_key.known_hosts or the server's host key`,
    );
  }
  if (
    /Authentication failed|could not read Username|Permission denied \(publickey|invalid credentials|HTTP Basic: Access denied|returned error: 40[13]/i.test(
      text,
    )
  ) {
    return new PermissionDeniedError(message);
  }
  if (
    /Could not resolve host|Connection refused|Connection timed out|unable to access|Could not read from remote/i.test(
      text,
    )
  ) {
    return new UnavailableError(message);
  }
  if (/already exists/i.test(text)) return new AlreadyExistsError(message);
  if (
    /not a valid branch name|is not a valid|invalid reference format|bad revision|ambiguous argument/i.test(
      text,
    )
  ) {
    return new InvalidArgumentError(message);
  }
  if (
    /not found|did not match any|unknown revision|does not appear to be a git repository|No such remote|couldn't find remote ref|needed a single revision/i.test(
      text,
    )
  ) {
    return new NotFoundError(message);
  }
  return new FailedPreconditionError(message);
}
