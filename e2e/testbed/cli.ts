// npm run testbed -- up | down [--purge] | status | build
// A failure (the preflight naming what the machine lacks, a component that did not start) is printed as
// one message, without a stack trace, and the exit code is 1.
import { testbedConfig } from './config.ts';
import { up, down, status, ensureBinaries, leftovers } from './testbed.ts';

async function main(command: string): Promise<void> {
  switch (command) {
    case 'up': {
      const result = await up();
      // npm start reads both lines: NodePort tenants are published at the VIP in front of the nodes.
      console.log(`test bed is up in ${result.seconds.toFixed(1)} s\nexport KUBECONFIG=${result.kubeconfig}\nexport NODE_ADDRESS=${testbedConfig.public.vip}`);
      break;
    }
    case 'down':
      await down({ purge: process.argv.includes('--purge') });
      console.log('test bed is down');
      break;
    case 'status': {
      const s = await status();
      console.log(JSON.stringify(s, null, 2));
      const left = s.up ? [] : await leftovers();
      if (!s.up && left.length) console.log(`not healthy; still present: ${left.join(', ')}`);
      process.exitCode = s.up ? 0 : 1;
      break;
    }
    case 'build':
      await ensureBinaries();
      break;
    default:
      console.error(`unknown command ${command}; use up, down, status or build`);
      process.exitCode = 2;
  }
}

const command = process.argv[2] ?? 'status';
try {
  await main(command);
} catch (error) {
  console.error(`testbed ${command}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
