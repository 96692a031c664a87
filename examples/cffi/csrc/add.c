/* Tiny C library linked statically into the cffi example. */

int ohr_add(int a, int b)
{
    return a + b;
}

const char *ohr_msg(void)
{
    return "hello from C";
}
