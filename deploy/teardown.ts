// npm run teardown -- --project P --region R [...]; see deploy/README-deploy.md.
import { main, teardownCli } from './cli.js';

await main(teardownCli, process.argv.slice(2));
