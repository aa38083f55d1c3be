# pocketsphinx recognizer worker (issue 14): Debian's python3-pocketsphinx with the pocketsphinx-en-us
# model, loaded once and kept running so each utterance costs its decode only, not the model load.
#
# Protocol on stdin/stdout, one request at a time:
#   in:  one JSON line {"id": str, "bytes": n} then n bytes of 16 kHz mono signed 16-bit LE PCM
#   out: one JSON line {"id", "text", "words": [{"word", "start_ms", "end_ms", "confidence"}],
#        "confidence", "decode_ms"} or {"id", "error"}
# "confidence" of a word is its posterior probability from the decoder's lattice; fillers (<s>, </s>,
# <sil>, [NOISE]) are left out. The utterance's confidence is the mean over its words (null if none).
import json
import sys
import time

from pocketsphinx.pocketsphinx import Decoder

FRAME_MS = 10  # the model's frame rate: 100 frames per second


def main():
    model = sys.argv[1]
    config = Decoder.default_config()
    config.set_string('-hmm', model + '/en-us')
    config.set_string('-lm', model + '/en-us.lm.bin')
    config.set_string('-dict', model + '/cmudict-en-us.dict')
    config.set_string('-logfn', '/dev/null')
    # Word posteriors need the lattice of the best-path search.
    config.set_boolean('-bestpath', True)
    # One search pass (no flat-lexicon rescoring), phone-loop lookahead and a cap on active HMMs:
    # about 2.5x faster than the defaults on this machine with the same words on the prompts tried.
    config.set_boolean('-fwdflat', False)
    config.set_int('-pl_window', 5)
    config.set_int('-maxhmmpf', 3000)
    # Further decoder options as JSON (name -> bool/int/float/str), e.g. for a narrowband setup.
    for name, value in json.loads(sys.argv[2] if len(sys.argv) > 2 else '{}').items():
        if isinstance(value, bool):
            config.set_boolean(name, value)
        elif isinstance(value, int):
            config.set_int(name, value)
        elif isinstance(value, float):
            config.set_float(name, value)
        else:
            config.set_string(name, str(value))
    decoder = Decoder(config)
    logmath = decoder.get_logmath()
    sys.stdout.write(json.dumps({'ready': True}) + '\n')
    sys.stdout.flush()
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return
        req = json.loads(line)
        pcm = stdin.read(req['bytes'])
        try:
            out = decode(decoder, logmath, pcm)
            out['id'] = req['id']
        except Exception as err:  # the caller gets the reason, the worker stays up
            out = {'id': req['id'], 'error': str(err)}
        sys.stdout.write(json.dumps(out) + '\n')
        sys.stdout.flush()


def decode(decoder, logmath, pcm):
    started = time.perf_counter()
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    words = []
    if decoder.hyp() is not None:
        for seg in decoder.seg():
            w = seg.word
            if w.startswith('<') or w.startswith('[') or w.startswith('+'):
                continue
            # Alternative pronunciations come back as "word(2)".
            if w.endswith(')') and '(' in w:
                w = w[: w.index('(')]
            words.append({
                'word': w,
                'start_ms': seg.start_frame * FRAME_MS,
                'end_ms': (seg.end_frame + 1) * FRAME_MS,
                'confidence': min(1.0, max(0.0, logmath.exp(seg.prob))),
            })
    conf = sum(w['confidence'] for w in words) / len(words) if words else None
    return {
        'text': ' '.join(w['word'] for w in words),
        'words': words,
        'confidence': conf,
        'decode_ms': (time.perf_counter() - started) * 1000,
    }


if __name__ == '__main__':
    main()
