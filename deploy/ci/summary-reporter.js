// Mocha's spec output, plus the run's counts written as JSON so test.sh can print one plain
// summary line without parsing human-oriented text. Plain CommonJS: mocha loads it as is.
const { writeFileSync } = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const summaryFile = options.reporterOption && options.reporterOption.summaryFile;
    if (!summaryFile) {
      throw new Error('summary-reporter needs --reporter-option summaryFile=<path>');
    }
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      writeFileSync(summaryFile, JSON.stringify({ passes, failures, pending }));
    });
  }
}

module.exports = SummaryReporter;
