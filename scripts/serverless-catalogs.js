'use strict';

// Local Serverless Framework plugin: compiles the gettext catalogs (webapp/translations/
// */LC_MESSAGES/messages.po -> .mo) before the deployment zip is made, so the package
// ships them; the app never compiles at request time, and .mo files are not committed.
// Uses PYTHON_BIN, else the project's .venv, else python3: whichever has Babel installed
// (requirements.txt pins it).

const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');

class CompileCatalogs {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.compile(),
      'before:deploy:function:packageFunction': () => this.compile(),
    };
  }

  compile() {
    const root = this.serverless.serviceDir;
    const venv = path.join(root, '.venv', 'bin', 'python');
    const python = process.env.PYTHON_BIN || (fs.existsSync(venv) ? venv : 'python3');
    const result = spawnSync(
      python,
      ['-m', 'babel.messages.frontend', 'compile', '-d', path.join('webapp', 'translations')],
      { cwd: root, stdio: 'inherit' }
    );
    if (result.error || result.status !== 0) {
      throw new this.serverless.classes.Error(
        `compile-catalogs: pybabel compile failed with ${python} (${
          result.error ? result.error.message : `exit ${result.status}`
        }); it needs Babel (pip install -r requirements.txt, or set PYTHON_BIN)`
      );
    }
  }
}

module.exports = CompileCatalogs;
