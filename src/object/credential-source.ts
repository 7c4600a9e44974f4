/**
 * Says where S3 credentials come from, for error messages that must help without leaking:
 * it names env vars and profiles, never a key or secret value.
 */

/** The credential-related inputs S3Store was given (secret values are only tested for presence). */
export interface CredentialInputs {
  readonly accessKeyId?: string | undefined;
  readonly profile?: string | undefined;
}

/**
 * A phrase naming the credential source the AWS SDK will use, mirroring the order of its
 * default chain (explicit options, env vars, shared profile, then SSO/container/instance role).
 */
export function credentialSource(inputs: CredentialInputs, env: NodeJS.ProcessEnv = process.env): string {
  if (inputs.accessKeyId !== undefined) return 'the explicit accessKeyId/secretAccessKey options';
  const files = sharedFiles(env);
  if (inputs.profile !== undefined) return `shared profile "${inputs.profile}" (${files})`;
  if (env['AWS_ACCESS_KEY_ID']) {
    const token = env['AWS_SESSION_TOKEN'] ? '/AWS_SESSION_TOKEN' : '';
    return `environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY${token}`;
  }
  if (env['AWS_PROFILE']) return `shared profile "${env['AWS_PROFILE']}" from AWS_PROFILE (${files})`;
  return 'the default AWS credential chain (no AWS_ACCESS_KEY_ID or AWS_PROFILE set: '
    + `profile "default" in ${files}, SSO, container or instance role)`;
}

function sharedFiles(env: NodeJS.ProcessEnv): string {
  const credentials = env['AWS_SHARED_CREDENTIALS_FILE'] ?? '~/.aws/credentials';
  const config = env['AWS_CONFIG_FILE'] ?? '~/.aws/config';
  return `${credentials}, ${config}`;
}
