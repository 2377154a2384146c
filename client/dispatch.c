/*
 * dispatch.c - global options, the command table, and the option handling
 * every command shares (--help, --json, --socket).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static const struct command commands[] = {
	{ "run", cmd_run, "[options] [--spec FILE.json] [--follow]",
	    "Start a run and print its id.  Flags override the spec file.\n"
	    "\n"
	    "  --spec FILE.json        the run spec (docs/PROTOCOL.md, \"Run spec\")\n"
	    "  --engine ENGINE         builtin:NAME, plugin:PATH or exec:COMMAND\n"
	    "  --name NAME             a unique name to refer to the run by\n"
	    "  --data DATA             range:N, csv:PATH, msgpack:PATH or worker\n"
	    "  --batch-size N  --shuffle  --split F  --label COL  --no-header\n"
	    "                          data options (csv, msgpack)\n"
	    "  --max-epochs N  --epoch-length N  --seed N\n"
	    "  --param KEY[:TYPE]=VALUE  a process function parameter; TYPE is\n"
	    "                          int, float, bool or str, else guessed\n"
	    "  --metric NAME=KIND[:FIELD[:TARGET]][,KEY=VALUE]...\n"
	    "                          attach a metric (KEY: split, alpha, threshold)\n"
	    "  --handler EVENT[,FILTER=N]...:ACTION[,ARG=VALUE]...\n"
	    "                          a handler (FILTER: every, once, before, after)\n"
	    "  --checkpoint-every N  --checkpoint-seconds S\n"
	    "  --from-state FILE.json  start from this state_dict\n"
	    "  --from RUN[@ITERATION]  start from that run's checkpoint (its\n"
	    "                          newest, or the one at ITERATION); the\n"
	    "                          spec is still this one's\n"
	    "  --gpus N  --cpus N      the GPUs and CPU slots it holds while it\n"
	    "                          runs; it waits queued until they are free\n"
	    "  --priority P            its place in the queue: higher first\n"
	    "                          (default 0; above 0 only root)\n"
	    "  --preemptible           it may be paused for a run of higher\n"
	    "                          priority (stored; not acted on yet)\n"
	    "  --tag KEY=VALUE         a tag to find the run by (ls --where); may\n"
	    "                          repeat\n"
	    "  --slurm KEY=VALUE       place the exec worker on Slurm: a key of\n"
	    "                          placement.slurm (partition=gpu, gres=gpu:1,\n"
	    "                          time=60, extra_args=--exclusive); may repeat\n"
	    "  --follow                watch the run and exit with its outcome\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl run --spec digits.json --max-epochs 30 --follow\n"
	    "  ignitectl run --engine builtin:softmax --data csv:digits.csv \\\n"
	    "      --label 64 --no-header --batch-size 32 --split 0.2 \\\n"
	    "      --param lr=0.5 --param classes=10 --metric loss=loss:loss \\\n"
	    "      --metric val_acc=accuracy,split=val \\\n"
	    "      --handler EPOCH_COMPLETED:evaluate \\\n"
	    "      --handler EPOCH_COMPLETED:early_stopping,metric=val_acc,patience=3\n"
	    "  ignitectl run --engine builtin:sleep --param ms=5 --data range:1000 \\\n"
	    "      --handler ITERATION_COMPLETED,every=100:log,message=tick\n" },
	{ "ls", cmd_ls,
	    "[--status STATUS]... [--tags] [--metric NAME[:min]]"
	    " [--sort NAME[:desc]] [--where KEY=VALUE]...",
	    "List runs: id, name, owner, status, epoch, iteration, rate, start\n"
	    "and latest metrics.\n"
	    "\n"
	    "  --status STATUS    only runs in STATUS (queued, running, paused,\n"
	    "                     completed, terminated, failed); may repeat\n"
	    "  --tags             a TAGS column\n"
	    "  --metric NAME      LAST, MIN, MAX and BEST-AT (the iteration of\n"
	    "                     the best value: the highest, the lowest with\n"
	    "                     NAME:min) of the metric's whole history\n"
	    "  --sort NAME        by the metric's latest value, lowest first;\n"
	    "                     NAME:desc highest first; runs without it last\n"
	    "  --where KEY=VALUE  only runs whose tag KEY is VALUE or whose\n"
	    "                     param KEY equals VALUE (numbers as numbers);\n"
	    "                     may repeat, all must hold.  Params are read\n"
	    "                     from the spec, which is its owner's: other\n"
	    "                     users' runs match by tags only (root: all)\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl ls\n"
	    "  ignitectl ls --status running --status paused\n"
	    "  ignitectl ls --where lr=0.1 --metric val_acc --sort val_acc:desc\n"
	    "  ignitectl ls --where sweep=lr --tags\n"
	    "  ignitectl --json ls | jq '.runs[].id'\n" },
	{ "queue", cmd_queue, "",
	    "The queued runs in the order they are to start: higher priority\n"
	    "first, then first come first served; what each asks and waits for.\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl queue\n"
	    "  ignitectl --json queue | jq '.queue[0].id'\n" },
	{ "top", cmd_top, "[--once]",
	    "A live view of the machine, redrawn every second until q or\n"
	    "Ctrl-C: ignited's GPUs and the run holding each (with their\n"
	    "utilisation and memory where the daemon finds NVML, else -), its\n"
	    "CPU slots used, the running runs and the queue in its order.\n"
	    "  --once   print one frame and exit (for scripts; with --json one\n"
	    "           object: gpus, cpus, running, queued)\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl top\n"
	    "  ignitectl --json top --once | jq '.gpus[] | select(.run)'\n" },
	{ "status", cmd_status, "RUN",
	    "Show one run.  RUN is an id or a name.\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl status 12\n"
	    "  ignitectl --json status digits\n" },
	{ "spec", cmd_spec, "RUN",
	    "Print the spec the run was started with, in its canonical form\n"
	    "(every default spelled out), as JSON: run --spec takes it back.\n"
	    "Only the run's owner and root may: it can hold worker.env.\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl spec digits\n"
	    "  ignitectl --json spec 12 > digits.json\n" },
	{ "state", cmd_state, "RUN",
	    "Print the run's state_dict (Ignite's Engine.state_dict()).  With\n"
	    "--json it can be given back to run --from-state.\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl state digits\n"
	    "  ignitectl --json state 12 > state.json\n" },
	{ "terminate", cmd_terminate, "[--no-wait] RUN",
	    "Stop the run after its current iteration (Ignite's terminate()),\n"
	    "and wait until it has stopped.\n"
	    "\n"
	    "  --no-wait     return at once; the run stops by itself\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl terminate digits\n" },
	{ "terminate-epoch", cmd_terminate_epoch, "RUN",
	    "End the current epoch after its current iteration; the run goes on\n"
	    "with the next (Ignite's terminate_epoch()).\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl terminate-epoch 12\n" },
	{ "pause", cmd_pause, "[--no-wait] RUN",
	    "Suspend the run after its current iteration, and wait until it\n"
	    "has; resume continues it.\n"
	    "\n"
	    "  --no-wait     return at once; the run pauses by itself\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl pause digits\n" },
	{ "resume", cmd_resume, "RUN [--max-epochs N]",
	    "Continue a paused run, or extend a completed or terminated one to\n"
	    "N epochs (Ignite's run() with a larger max_epochs).\n"
	    "\n"
	    "  --max-epochs N   run up to epoch N\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl resume digits\n"
	    "  ignitectl resume 12 --max-epochs 40\n" },
	{ "rm", cmd_rm, "RUN",
	    "Delete an ended run: its spec, checkpoints, history and logs.\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl rm 12\n" },
	{ "metrics", cmd_metrics,
	    "RUN... [--name N]... [--epochs|--align iteration|epoch|wall]"
	    " [--from X --to Y] [--max-points N] [--csv|--plot]",
	    "Print a run's metric history, every page of it.  Several runs are\n"
	    "compared: aligned on the axis, a column per run (RUN:NAME with\n"
	    "several names), empty where a run has no point; by epoch a run's\n"
	    "value is its last of that epoch.  --plot overlays them, one colour\n"
	    "(or marker) per run with a legend.\n"
	    "\n"
	    "  --name N          only series N; may repeat\n"
	    "  --epochs          --from and --to count epochs, and --plot draws\n"
	    "                    against epochs\n"
	    "  --iterations      they count iterations (the default)\n"
	    "  --align A         iteration, epoch (as above) or wall: runs\n"
	    "                    aligned on each point's time since its run\n"
	    "                    started (milliseconds; a chart in seconds)\n"
	    "  --from X --to Y   an inclusive range on that axis\n"
	    "  --max-points N    at most N points per series, evenly spread\n"
	    "  --csv             name,epoch,iteration,time,value lines\n"
	    "  --plot            a line chart per series, as wide as the terminal;\n"
	    "                    by iteration it reads the min and max of a bucket\n"
	    "                    per dot, never the whole history\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl metrics digits --name loss --plot\n"
	    "  ignitectl metrics 12 --epochs --from 3 --to 5 --csv > m.csv\n"
	    "  ignitectl metrics 12 13 14 --name val_acc --epochs --plot\n"
	    "  ignitectl metrics 12 13 --name loss --align wall --csv\n"
	    "  ignitectl --json metrics 12 --max-points 100\n" },
	{ "export", cmd_export, "RUN... [--format csv|jsonl] [--name N]...",
	    "Write the whole metric history of each run, page by page as the\n"
	    "daemon sends it: ignitectl holds one page at a time, however long\n"
	    "the history.\n"
	    "\n"
	    "  --format csv      run,name,epoch,iteration,time,value lines (the\n"
	    "                    default)\n"
	    "  --format jsonl    a JSON object a line (with --json); NaN and\n"
	    "                    infinities are null\n"
	    "  --name N          only series N; may repeat\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl export digits > digits.csv\n"
	    "  ignitectl export 12 13 --format jsonl --name loss | gzip > m.jsonl.gz\n" },
	{ "watch", cmd_watch, "RUN",
	    "Follow a run until it ends: epoch, iteration, rate, ETA and the\n"
	    "latest metrics, redrawn in place on a terminal, as lines otherwise,\n"
	    "as JSON lines with --json.  Exits 0 when the run completed, 1 when\n"
	    "it failed, 3 when it was terminated.\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl watch digits\n"
	    "  ignitectl --json watch 12 | jq -c 'select(.type == \"status\")'\n" },
	{ "logs", cmd_logs, "RUN [--tail N]",
	    "Print the run's log: lifecycle events, handler log lines and\n"
	    "worker messages, oldest first.\n"
	    "\n"
	    "  --tail N   only the last N lines\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl logs digits --tail 20\n" },
	{ "checkpoints", cmd_checkpoints, "RUN",
	    "List the run's checkpoints, oldest first: iteration, epoch, size,\n"
	    "when it was cut, its score (checkpoint.best's metric), why it is\n"
	    "kept (one of the last n_saved, one of the best) and its file (none\n"
	    "for a state kept in the database).  Only the run's owner and root.\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl checkpoints digits\n"
	    "  ignitectl --json checkpoints 12 | jq '.checkpoints[-1].file'\n" },
	{ "dashboard", cmd_dashboard, "[--port P]",
	    "Serve a live web page of the runs on 127.0.0.1 for you alone: the\n"
	    "runs table, each run's curves (zoom by dragging, compare runs),\n"
	    "its log, and pause, resume, terminate and terminate-epoch.  It\n"
	    "asks the daemon as you, so it shows what you may see.  Prints the\n"
	    "address to open, with a token that is the key to it; runs until\n"
	    "Ctrl-C.\n"
	    "\n"
	    "  --port P   listen on port P (default 0: any free port)\n"
	    "\n"
	    "Examples:\n"
	    "  ignitectl dashboard\n"
	    "  ignitectl dashboard --port 8470\n"
	    "  ssh -L 8470:127.0.0.1:8470 host ignitectl dashboard --port 8470\n" },
	{ "ping", cmd_ping, "",
	    "Check that the daemon answers, and how fast.\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl ping\n" },
	{ "version", cmd_version, "",
	    "Print the versions of ignitectl, the daemon and the protocol.\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl version\n" },
	{ "shutdown", cmd_shutdown, "",
	    "Stop the daemon: every run is checkpointed and resumes when the\n"
	    "daemon starts again.  Only root and the daemon's own user may.\n"
	    "\n"
	    "Example:\n"
	    "  ignitectl shutdown\n" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* `ignitectl help builtins`: ignited.8's BUILTINS in short.  A test holds
 * both against the params the daemon accepts. */
static const char builtins_help[] =
    "Builtin engines: \"engine\": \"builtin:NAME\", params in the spec's\n"
    "\"params\" map or as --param KEY=VALUE.  An unknown param, or a value\n"
    "of the wrong type or out of range, is refused when the run starts.\n"
    "\n"
    "noop      does nothing per batch (the daemon's own overhead); no params\n"
    "sleep     sleeps each iteration, outputs nothing\n"
    "  ms            float  milliseconds per iteration, 0 to 86400000\n"
    "                       (default 1)\n"
    "meanstd   per-column mean and std of x: fields mean.J, mean2.J for\n"
    "          average metrics, std.J reported; no params\n"
    "softmax   logistic regression by minibatch SGD: fields loss, y_pred, y\n"
    "  classes       int    number of classes, 2 to 1000000; labels in\n"
    "                       [0, classes) (required)\n"
    "  lr            float  learning rate, > 0 (default 0.1)\n"
    "  momentum      float  in [0, 1) (default 0)\n"
    "  weight_decay  float  L2 penalty, not on the bias, >= 0 (default 0)\n"
    "  features      int    input columns, 1 to 1000000 (default: the\n"
    "                       first batch's)\n"
    "  seed          int    initialisation of the weights (default 0)\n"
    "\n"
    "Example:\n"
    "  ignitectl run --engine builtin:sleep --param ms=5 --data range:1000\n";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ignitectl [--socket PATH] [--json] COMMAND [ARGS]\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-16s%s%s\n", commands[i].name,
		    commands[i].args[0] != '\0' ? " " : "", commands[i].args);
	fprintf(f,
	    "\n"
	    "RUN is a run id or name.  `ignitectl COMMAND --help` says more;\n"
	    "`ignitectl help builtins` lists the builtin engines and params.\n"
	    "The socket is --socket, else $IGNITE_SOCKET, else the daemon's\n"
	    "default (/run/ignite/ignited.sock as root, else\n"
	    "$XDG_RUNTIME_DIR/ignite/ignited.sock, else\n"
	    "/tmp/ignite-UID/ignited.sock).\n"
	    "Exit status: 0 ok, 1 daemon error or run failed, 2 usage,\n"
	    "3 run terminated, 69 daemon unavailable.\n");
}

static void
command_help(const struct command *cmd, FILE *f)
{
	fprintf(
	    f, "usage: ignitectl %s %s\n\n%s", cmd->name, cmd->args, cmd->help);
}

int
ctl_usage(struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fprintf(ctl->err, "ignitectl %s: ", ctl->cmd->name);
	va_start(ap, fmt);
	vfprintf(ctl->err, fmt, ap);
	va_end(ap);
	fprintf(ctl->err, "\nusage: ignitectl %s %s\n", ctl->cmd->name,
	    ctl->cmd->args);
	return CTL_EUSAGE;
}

int
ctl_getopt(struct ctl *ctl, int argc, char **argv, const struct option *opts,
    int *status)
{
	/* --json and --socket are global, but people type them anywhere. */
	static const struct option common[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		{ "socket", required_argument, NULL, 'S' },
	};
	struct option all[40];
	size_t n = 0;
	int c;

	for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
		all[n++] = common[i];
	for (; opts != NULL && opts->name != NULL; opts++) {
		if (n + 1 >= sizeof all / sizeof all[0]) {
			*status = ig_err_set(&ctl->e, CTL_ELOCAL,
			    "too many options for %s", ctl->cmd->name);
			return CTL_OPT_DONE;
		}
		all[n++] = *opts;
	}
	all[n] = (struct option){ NULL, 0, NULL, 0 };

	for (;;) {
		/* GNU getopt permutes, so options may follow the operands
		 * (`status 3 --json`); ':' lets us word the errors. */
		switch ((c = getopt_long(argc, argv, ":h", all, NULL))) {
		case 'h':
			command_help(ctl->cmd, ctl->out);
			*status = CTL_OK;
			return CTL_OPT_DONE;
		case 'J':
			ctl->output = &output_json;
			continue;
		case 'S':
			ctl->socket = optarg;
			continue;
		case ':':
			*status = ctl_usage(
			    ctl, "%s needs a value", argv[optind - 1]);
			return CTL_OPT_DONE;
		case '?':
			*status = ctl_usage(
			    ctl, "unknown option %s", argv[optind - 1]);
			return CTL_OPT_DONE;
		default:
			return c;
		}
	}
}

int
ctl_operands(struct ctl *ctl, int argc, char **argv, int n)
{
	if (argc - optind < n)
		return ctl_usage(
		    ctl, "missing %s", n == 1 ? "RUN" : "operands");
	if (argc - optind > n)
		return ctl_usage(
		    ctl, "unexpected argument %s", argv[optind + n]);
	return CTL_OK;
}

int
ctl_args(struct ctl *ctl, int argc, char **argv, int n)
{
	int status;

	switch (ctl_getopt(ctl, argc, argv, NULL, &status)) {
	case -1:
		status = ctl_operands(ctl, argc, argv, n);
		return status == CTL_OK ? CTL_CONTINUE : status;
	case CTL_OPT_DONE:
		return status;
	default:
		/* ctl_getopt returns only the options it was given. */
		return ctl_usage(ctl, "unexpected option");
	}
}

int
ctl_number(struct ctl *ctl, const char *opt, const char *s, int64_t min,
    int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
		return ctl_usage(ctl,
		    "%s %s: expected an integer from %lld to %lld", opt, s,
		    (long long)min, (long long)max);
	*out = v;
	return CTL_OK;
}

int
ctl_connect(struct ctl *ctl)
{
	int rc;

	if (ctl->conn != NULL)
		return CTL_OK;
	if ((rc = conn_socket_path(ctl->socket, ctl->path, sizeof ctl->path,
	         &ctl->path_how, &ctl->e)) != CTL_OK)
		return rc;
	return conn_open(ctl->path, &ctl->conn, &ctl->unreachable, &ctl->e);
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Print the error a command failed with. */
static void
report(struct ctl *ctl, int status)
{
	if (ctl->e.message[0] == '\0')
		return;
	/* the message may quote the daemon's, and so a worker's */
	fputs("ignitectl: ", ctl->err);
	put_text(ctl->err, ctl->e.message);
	if (status == CTL_EDAEMON && ctl->e.code > 0)
		fprintf(ctl->err, " (%s)", ig_proto_code_name(ctl->e.code));
	fputc('\n', ctl->err);
	if (!ctl->unreachable)
		return;
	/* where the path came from: a stale IGNITE_SOCKET is a common
	 * surprise */
	fputs(
	    "Is ignited running?  Start it with: ignited --socket ", ctl->err);
	put_text(ctl->err, ctl->path);
	fprintf(ctl->err,
	    "\nor point ignitectl at it with --socket PATH or "
	    "IGNITE_SOCKET.\n(socket path from %s)\n",
	    ctl->path_how);
}

int
ctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'J' },
		{ "socket", required_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .out = out, .err = err, .output = &output_text };
	const struct command *cmd;
	int c, status;

	optind = 0; /* GNU getopt: start afresh (tests call us again) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(out);
			return CTL_OK;
		case 'J':
			ctl.output = &output_json;
			break;
		case 'S':
			ctl.socket = optarg;
			break;
		case 'V':
			fprintf(out, "ignitectl %s (protocol %d)\n",
			    IGNITE_VERSION, IG_PROTO_VERSION);
			return CTL_OK;
		default:
			fprintf(err, "ignitectl: %s %s\n",
			    c == ':' ? "missing value for" : "unknown option",
			    argv[optind - 1]);
			usage(err);
			return CTL_EUSAGE;
		}
	}
	if (optind >= argc) {
		usage(err);
		return CTL_EUSAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 < argc &&
		    (cmd = find_command(argv[optind + 1])) != NULL) {
			command_help(cmd, out);
			return CTL_OK;
		}
		if (optind + 1 < argc &&
		    strcmp(argv[optind + 1], "builtins") == 0) {
			fputs(builtins_help, out);
			return CTL_OK;
		}
		usage(out);
		return CTL_OK;
	}
	if (find_command(argv[optind]) == NULL) {
		fprintf(err,
		    "ignitectl: unknown command %s; see ignitectl "
		    "--help\n",
		    argv[optind]);
		return CTL_EUSAGE;
	}
	status = ctl_command(&ctl, argc - optind, argv + optind);
	report(&ctl, status);
	return status;
}

int
ctl_command(struct ctl *ctl, int argc, char **argv)
{
	int status;

	if ((ctl->cmd = find_command(argv[0])) == NULL)
		return ig_err_set(
		    &ctl->e, CTL_EUSAGE, "unknown command %s", argv[0]);
	/* The command parses its own argv, whose argv[0] is its name. */
	optind = 0;
	status = ctl->cmd->run(ctl, argc, argv);
	conn_close(ctl->conn);
	ctl->conn = NULL;
	return status;
}
