// npm run teardown -- --project P --region R [...]; see docs/deploy.md, "Teardown" (npm run teardown -- --help).
import { teardownCli } from './cli.js';
import { main } from './cli-io.js';

await main(teardownCli, process.argv.slice(2));
