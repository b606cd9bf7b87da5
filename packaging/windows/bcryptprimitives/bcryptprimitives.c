/* bcryptprimitives.dll for the Wine smoke test ONLY — never shipped.
 *
 * Go >= 1.22 programs on Windows call bcryptprimitives.dll!ProcessPrng for randomness and
 * refuse to start without it ("fatal error: bcryptprimitives.dll not found"). Debian
 * bookworm's Wine 8.0 has no such DLL (Wine >= 9 and every real Windows 10/11 do). This
 * stub forwards to advapi32!SystemFunction036 (RtlGenRandom), which Wine implements.
 * Built by packaging/smoke-windows.sh with x86_64-w64-mingw32-gcc. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng always succeeds on Windows; Go treats FALSE as fatal, which is right here too. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length; /* ULONG-sized pieces */
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
