import { CliError, EXIT } from "../io";
import { GLOBAL_OPTIONS, OPTIONS, type OptionName } from "../options";
import type { CommandSpec } from "./spec";

/** The words completion offers: command names, and the flags of each (from the one table). */
export interface CompletionWords {
  commands: string[];
  flags: Record<string, string[]>;
}

const flagWords = (names: readonly OptionName[]) =>
  [...new Set([...names, ...GLOBAL_OPTIONS])].flatMap((n) => {
    const s: string | undefined = (OPTIONS[n] as { short?: string }).short;
    return s ? [`--${n}`, `-${s}`] : [`--${n}`];
  });

export function completionWords(table: readonly CommandSpec[], chat: CommandSpec): CompletionWords {
  const flags: Record<string, string[]> = { "": flagWords(chat.options) };
  for (const c of table) flags[c.name] = flagWords(c.options);
  return { commands: table.flatMap((c) => [c.name, ...(c.aliases ?? [])]), flags };
}

/** Pure: the completion script for `shell`; it asks `dispatch models` for model names at run time. */
export function completionScript(shell: string, w: CompletionWords): string {
  const cmds = w.commands.join(" ");
  const cases = Object.entries(w.flags);
  switch (shell) {
    case "bash":
      return `# dispatch completion for bash: eval "$(dispatch completion bash)"
_dispatch() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="\${COMP_WORDS[1]}" words
  case "$cmd" in
${cases
  .filter(([c]) => c)
  .map(([c, f]) => `    ${c}) words="${f.join(" ")}" ;;`)
  .join("\n")}
    *) if [ "$COMP_CWORD" -eq 1 ] && [ "\${cur#-}" = "$cur" ]; then words="${cmds} $(dispatch models 2>/dev/null | sed 's/^[* ] //; s/  .*//')"; else words="${w.flags[""]?.join(" ")}"; fi ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _dispatch dispatch
`;
    case "zsh":
      // `words` is zsh's own array of the command line; the candidates go in `opts`.
      return `#compdef dispatch
# dispatch completion for zsh: eval "$(dispatch completion zsh)"
_dispatch() {
  local -a opts
  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
    opts=(${cmds} \${(f)"$(dispatch models 2>/dev/null | sed 's/^[* ] //; s/  .*//')"})
  else
    case \${words[2]} in
${cases
  .filter(([c]) => c)
  .map(([c, f]) => `      ${c}) opts=(${f.join(" ")}) ;;`)
  .join("\n")}
      *) opts=(${w.flags[""]?.join(" ")}) ;;
    esac
  fi
  compadd -- $opts
}
compdef _dispatch dispatch
`;
    case "fish":
      return `# dispatch completion for fish: dispatch completion fish | source
complete -c dispatch -f
complete -c dispatch -n "__fish_use_subcommand" -a "${cmds}"
complete -c dispatch -n "__fish_use_subcommand" -a "(dispatch models 2>/dev/null | string replace -r '^[* ] ' '' | string replace -r '  .*' '')"
${(w.flags[""] ?? [])
  .filter((x) => x.startsWith("--"))
  .map((x) => `complete -c dispatch -n "__fish_use_subcommand" -l ${x.slice(2)}`)
  .join("\n")}
${cases
  .filter(([c]) => c)
  .flatMap(([c, f]) =>
    f
      .filter((x) => x.startsWith("--"))
      .map((x) => `complete -c dispatch -n "__fish_seen_subcommand_from ${c}" -l ${x.slice(2)}`),
  )
  .join("\n")}
`;
    default:
      throw new CliError(`dispatch completion: unknown shell "${shell}"; one of bash, zsh, fish`, EXIT.usage);
  }
}

export function completion(words: () => CompletionWords): CommandSpec {
  return {
    name: "completion",
    usage: "completion bash|zsh|fish",
    summary: "print a shell completion script",
    details: `bash: eval "$(dispatch completion bash)"   zsh: eval "$(dispatch completion zsh)"   fish: dispatch completion fish | source`,
    positionals: { min: 1, max: 1, names: "the shell: bash, zsh or fish" },
    options: [],
    async run({ args, io }) {
      io.stdout.write(completionScript(args[0] as string, words()));
      return EXIT.ok;
    },
  };
}
