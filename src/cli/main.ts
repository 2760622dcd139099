/**
 * The `tsgl` command line: dispatches subcommands. Each subcommand lives in its own module and
 * is imported lazily, so `tsgl --help` stays instant.
 *
 * Invariant: returns an exit code; only usage errors and failures print to stderr.
 */
const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  launch_server: { help: 'start the HTTP server (SGLang launch_server flags)', run: async (a) => (await import('./serve.js')).serve(a) },
  serve: { help: 'alias of launch_server', run: async (a) => (await import('./serve.js')).serve(a) },
  generate: { help: 'one-shot generation from a prompt or input ids', run: async (a) => (await import('./generate.js')).generateCommand(a) },
  convert: { help: 'write a GGUF file (f32, f16, bf16, q8_0, q4_0, q5_0) from a HF folder or a config.json', run: async (a) => (await import('./convert.js')).convertCommand(a) },
  download: { help: 'download a Hugging Face model into the local cache (huggingface_hub layout)', run: async (a) => (await import('./download.js')).downloadCommand(a) },
  models: { help: 'list the models in the local Hugging Face cache', run: async (a) => (await import('./models.js')).modelsCommand(a) },
  bench_one_batch: { help: 'static-batch prefill/decode throughput, no server', run: async (a) => (await import('../../bench/one-batch.js')).benchOneBatch(a) },
  bench_serving: { help: 'online load against a running server (SGLang bench_serving metrics)', run: async (a) => (await import('../../bench/serving.js')).benchServing(a) },
  bench_compare: { help: 'a named workload on tsgl and llama.cpp side by side, alternating, with ratios', run: async (a) => (await import('../../bench/compare.js')).benchCompare(a) },
};

function usage(): string {
  const lines = ['Usage: tsgl <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(16)} ${c.help}`);
  lines.push('', 'Run `tsgl <command> --help` for the options of a command.');
  return lines.join('\n') + '\n';
}

export async function runCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 1 : 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write('tsgl 0.1.0\n');
    return 0;
  }
  const command = COMMANDS[cmd] ?? (cmd.startsWith('-') ? COMMANDS.launch_server : undefined);
  if (!command) {
    process.stderr.write(`tsgl: unknown command "${cmd}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(cmd.startsWith('-') ? argv : rest);
  } catch (e) {
    process.stderr.write(`tsgl ${cmd}: ${(e as Error).message}\n`);
    if (process.env.TSGL_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
