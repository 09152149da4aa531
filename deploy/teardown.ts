// npm run teardown -- --project P --region R [...]; see README.md, "Deploy to Google Cloud" > "Teardown".
import { teardownCli } from './cli.js';
import { main } from './cli-io.js';

await main(teardownCli, process.argv.slice(2));
