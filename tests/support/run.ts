/** Test helper: a subprocess run to its end. */

/** Runs a command to its end; its exit code and output. */
export async function run(
  cmd: string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe", ...(cwd === undefined ? {} : { cwd }) });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out, err };
}
