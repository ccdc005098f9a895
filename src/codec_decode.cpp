// codec_decode.cpp: being written (issue 3).
