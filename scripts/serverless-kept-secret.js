'use strict';

// Local Serverless Framework plugin: on `serverless deploy`, finds the SECRET_KEY secret
// this stage keeps by name (`AppSecret`'s Name in the template) and, when it exists and
// no existingSecretArn was given, deploys with it instead of creating a new one.
//
// Why: the secret is Retain-ed (emailed manage links must keep working for months), so
// after `serverless remove`, or a replaced stack, a secret of that name is left behind
// and creating `AppSecret` again would fail ("already exists"). Using the kept secret
// keeps every link valid. On a normal redeploy the stack's own secret is found too: the
// stack then reads it through ExistingSecretArn and stops managing it, which changes
// nothing for the app (same value) and nothing for the secret (Retain). A secret
// scheduled for deletion stops the deploy: restoring it keeps the links valid, a new one
// would not. `serverless package` never runs this (no AWS calls while packaging).

class KeptSecret {
  constructor(serverless) {
    this.serverless = serverless;
    this.provider = serverless.getProvider('aws');
    this.hooks = {
      // Before change detection, so a changed parameter default counts as a change.
      'before:aws:deploy:deploy:checkForChanges': () => this.useKeptSecret(),
    };
  }

  async useKeptSecret() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const parameter = (template.Parameters || {}).ExistingSecretArn;
    const secret = (template.Resources || {}).AppSecret;
    if (!parameter || !secret || parameter.Default) return null; // given explicitly
    const name = secret.Properties.Name;
    let found;
    try {
      found = await this.provider.request('SecretsManager', 'describeSecret', { SecretId: name });
    } catch (error) {
      const code = error.providerError ? error.providerError.code : error.code;
      if (code === 'ResourceNotFoundException') return null; // first deploy: the stack creates it
      throw error;
    }
    if (found.DeletedDate) {
      throw new this.serverless.classes.Error(
        `kept-secret: the secret ${name} is scheduled for deletion; restore it ` +
          `(aws secretsmanager restore-secret --secret-id ${name}) and deploy again, so ` +
          'the manage links already emailed keep working (docs/deploy.md)'
      );
    }
    parameter.Default = found.ARN;
    this.serverless.cli.log(`kept-secret: using the kept secret ${name}`);
    return found.ARN;
  }
}

module.exports = KeptSecret;
