// The one error for a configuration that cannot be used: a pooler config file or config version
// that fails validation, or an environment variable the AWS adapters need that is missing or
// malformed. Shared so that the pooler (which reloads on it, keeping the running config) and the
// AWS adapters (which read the environment) throw the same class with the same stable code.
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
