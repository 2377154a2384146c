/*
 * main.c - ignitectl, the client of ignited.  Everything but the process
 * itself is in dispatch.c and the files it names; this is the one place
 * that ends the process.
 */
#include <locale.h>
#include <stdlib.h>

#include "ignitectl.h"

int
main(int argc, char **argv)
{
	int status;

	setlocale(LC_CTYPE, "");
	status = ctl_main(argc, argv, stdout, stderr);
	if (fflush(stdout) != 0 && status == CTL_OK)
		status = CTL_ELOCAL;
	exit(status);
}
