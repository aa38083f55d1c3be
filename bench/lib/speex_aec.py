"""speexdsp's echo canceller (libspeexdsp, Debian libspeexdsp1) through ctypes, for bench/echo.ts.

Usage: speex_aec.py RATE FRAME TAIL_SAMPLES MIC FAR OUT
MIC, FAR: 16-bit little-endian mono PCM of the same length; OUT is written in the same format.
Prints the CPU seconds spent in speex_echo_cancellation (the canceller alone, no file I/O).
"""
import array
import ctypes
import ctypes.util
import sys
import time

SPEEX_ECHO_SET_SAMPLING_RATE = 24


def main() -> None:
    rate, frame, tail = (int(a) for a in sys.argv[1:4])
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    lib = ctypes.CDLL(name)
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    mic = array.array("h")
    far = array.array("h")
    with open(sys.argv[4], "rb") as f:
        mic.frombytes(f.read())
    with open(sys.argv[5], "rb") as f:
        far.frombytes(f.read())
    if len(mic) != len(far):
        sys.exit(f"near end has {len(mic)} samples, far end {len(far)}")
    out = array.array("h", bytes(2 * len(mic)))
    st = lib.speex_echo_state_init(frame, tail)
    r = ctypes.c_int(rate)
    lib.speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(r))
    frame_t = ctypes.c_int16 * frame
    recs = [frame_t.from_buffer(mic, 2 * i) for i in range(0, len(mic) - frame + 1, frame)]
    plays = [frame_t.from_buffer(far, 2 * i) for i in range(0, len(far) - frame + 1, frame)]
    outs = [frame_t.from_buffer(out, 2 * i) for i in range(0, len(out) - frame + 1, frame)]
    cancel = lib.speex_echo_cancellation
    t0 = time.process_time()
    for rec, play, o in zip(recs, plays, outs):
        cancel(st, rec, play, o)
    spent = time.process_time() - t0
    lib.speex_echo_state_destroy(st)
    with open(sys.argv[6], "wb") as f:
        f.write(out.tobytes())
    print(f"{spent:.6f}")


if __name__ == "__main__":
    main()
