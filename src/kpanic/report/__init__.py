"""Kernel crash report parser: console logs, dmesg, pstore and decoded QR text -> CrashReport."""
