// npm run deploy -- --project P --region R --billing-account A [...]; see docs/deploy.md (npm run deploy -- --help).
import { deployCli } from './cli.js';
import { main } from './cli-io.js';

await main(deployCli, process.argv.slice(2));
