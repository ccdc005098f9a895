// codec_encode.cpp: being written (issue 3).
