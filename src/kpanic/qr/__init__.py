"""The drm_panic QR codec: kernel bit-exact encoder, panic URL codec, photo decoder, renderers."""
