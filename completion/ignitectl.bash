# bash completion for ignitectl(1)

_ignitectl_runs()
{
	# Run ids and names from the daemon; quiet when it is down.
	ignitectl ls 2>/dev/null |
	    awk 'NR > 1 { print $1; if ($2 != "-") print $2 }'
}

_ignitectl()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	local commands="run ls queue top status spec state terminate terminate-epoch
	    pause resume rm metrics export watch logs checkpoints dashboard ping
	    shutdown help"

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done

	case $prev in
	--socket|--spec|--from-state)
		COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--status)
		COMPREPLY=($(compgen -W "queued running paused completed
		    terminated failed" -- "$cur")); return ;;
	--engine)
		COMPREPLY=($(compgen -W "builtin:noop builtin:sleep
		    builtin:meanstd builtin:softmax plugin: exec:" -- "$cur"))
		return ;;
	--data)
		COMPREPLY=($(compgen -W "range: csv: msgpack: worker" -- "$cur"))
		return ;;
	--format)
		COMPREPLY=($(compgen -W "csv jsonl" -- "$cur")); return ;;
	--align)
		COMPREPLY=($(compgen -W "iteration epoch wall" -- "$cur"))
		return ;;
	esac

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$commands --socket --json --help
		    --version" -- "$cur"))
		return
	fi

	local opts="--help --json --socket"
	case $cmd in
	run) opts+=" --spec --from-state --from --follow --engine --name --data
	    --batch-size --shuffle --no-header --split --label --max-epochs
	    --epoch-length --seed --param --metric --handler
	    --checkpoint-every --checkpoint-seconds --gpus --cpus --priority
	    --preemptible --tag --slurm" ;;
	ls) opts+=" --status --tags --metric --sort --where" ;;
	resume) opts+=" --max-epochs" ;;
	metrics) opts+=" --name --epochs --iterations --align --from --to
	    --max-points --csv --plot" ;;
	export) opts+=" --format --name" ;;
	logs) opts+=" --tail" ;;
	dashboard) opts+=" --port" ;;
	top) opts+=" --once" ;;
	terminate|pause) opts+=" --no-wait" ;;
	help) COMPREPLY=($(compgen -W "$commands builtins" -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	case $cmd in
	status|spec|state|terminate|terminate-epoch|pause|resume|rm|metrics|\
	    export|watch|logs|checkpoints)
		COMPREPLY=($(compgen -W "$(_ignitectl_runs)" -- "$cur")) ;;
	esac
}
complete -F _ignitectl ignitectl
