'use strict';
// Checks whether a Docker Engine answers, the way the manager will reach it.
const http = require('node:http');

/** Where DOCKER_HOST (or its default) points, as http.request options. */
function dockerEndpoint(dockerHost) {
  if (!dockerHost)
    return { socketPath: '/var/run/docker.sock', label: 'unix:///var/run/docker.sock' };
  if (dockerHost.startsWith('unix://'))
    return { socketPath: dockerHost.slice('unix://'.length), label: dockerHost };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), label: dockerHost };
}

/** Resolves { ok, label, reason } after GET /_ping. */
function checkDocker(env) {
  let endpoint;
  try {
    endpoint = dockerEndpoint(env.DOCKER_HOST);
  } catch (error) {
    return Promise.resolve({ ok: false, label: env.DOCKER_HOST, reason: error.message });
  }
  const { label, ...target } = endpoint;
  return new Promise((resolve) => {
    const request = http.get({ ...target, path: '/_ping', timeout: 3000 }, (response) => {
      response.resume();
      const ok = response.statusCode === 200;
      resolve({ ok, label, reason: ok ? '' : `HTTP ${response.statusCode}` });
    });
    request.once('timeout', () => request.destroy(new Error('no answer within 3 s')));
    request.once('error', (error) => resolve({ ok: false, label, reason: error.message }));
  });
}

module.exports = { checkDocker };
