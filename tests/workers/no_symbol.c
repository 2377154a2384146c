/* no_symbol.c - a shared object without the plugin entry point. */
int not_a_plugin(void);

int
not_a_plugin(void)
{
	return 0;
}
