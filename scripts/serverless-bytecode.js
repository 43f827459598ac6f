'use strict';

// Local Serverless Framework plugin: once the deployment zip is complete (app code,
// serverless-wsgi's handler, the requirements injected by serverless-python-requirements),
// add Python 3.12 byte code to it with scripts/lambda_bytecode.py. Listed last in
// serverless.yml's `plugins`, so its hook runs after the other plugins' hooks on the same
// event. Runs on `serverless package` and on `serverless deploy` (which packages first),
// so both produce the same zip. The build fails when no Python 3.12 is found.

const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');

class PythonBytecode {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'after:package:createDeploymentArtifacts': () => this.compile(),
      'after:deploy:function:packageFunction': () => this.compile(),
    };
  }

  artifacts() {
    const service = this.serverless.service;
    const found = new Set();
    if (service.package && service.package.artifact) found.add(service.package.artifact);
    for (const name of service.getAllFunctions()) {
      const fn = service.getFunction(name);
      if (fn.package && fn.package.artifact) found.add(fn.package.artifact);
    }
    if (found.size === 0) {
      found.add(path.join('.serverless', `${service.service}.zip`));
    }
    return [...found]
      .map((artifact) => path.resolve(this.serverless.serviceDir, artifact))
      .filter((artifact) => fs.existsSync(artifact));
  }

  compile() {
    const zips = this.artifacts();
    if (zips.length === 0) {
      throw new this.serverless.classes.Error('python-bytecode: no deployment zip to compile');
    }
    const python = process.env.PYTHON_BIN || 'python3';
    const result = spawnSync(python, [path.join(__dirname, 'lambda_bytecode.py'), ...zips], {
      cwd: this.serverless.serviceDir,
      stdio: 'inherit',
    });
    if (result.error || result.status !== 0) {
      throw new this.serverless.classes.Error(
        `python-bytecode: compiling the deployment zip failed (${
          result.error ? result.error.message : `exit ${result.status}`
        }); see the message above`
      );
    }
  }
}

module.exports = PythonBytecode;
