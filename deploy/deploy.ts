// npm run deploy -- --project P --region R --billing-account A [...]; see deploy/README-deploy.md.
import { deployCli, main } from './cli.js';

await main(deployCli, process.argv.slice(2));
