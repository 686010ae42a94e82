/* djpeg_loop: what `djpeg -grayscale -scale 1/8` does to one file, N times in
   one process, so process start-up and PNM writing do not count. Used by
   BenchmarkDecode (imaging/bench_test.go) as the libjpeg-turbo limit.

   usage: djpeg_loop FILE N SCALE_NUM   prints the median and total ns per decode */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <jpeglib.h>

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s FILE N SCALE_NUM\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *src = malloc(n);
	if (fread(src, 1, n, f) != (size_t)n) {
		perror("read");
		return 1;
	}
	fclose(f);
	int iters = atoi(argv[2]), scale = atoi(argv[3]);
	long long *t = malloc(sizeof(long long) * (iters > 0 ? iters : 1)), total = 0;
	unsigned char *out = NULL;
	unsigned long sum = 0;
	for (int it = 0; it < iters; it++) {
		long long t0 = now_ns();
		struct jpeg_decompress_struct d;
		struct jpeg_error_mgr err;
		d.err = jpeg_std_error(&err);
		jpeg_create_decompress(&d);
		jpeg_mem_src(&d, src, (unsigned long)n);
		jpeg_read_header(&d, TRUE);
		d.out_color_space = JCS_GRAYSCALE;
		d.scale_num = scale;
		d.scale_denom = 8;
		jpeg_start_decompress(&d);
		if (!out) {
			out = malloc((size_t)d.output_width * d.output_height);
		}
		while (d.output_scanline < d.output_height) {
			JSAMPROW row = out + (size_t)d.output_scanline * d.output_width;
			jpeg_read_scanlines(&d, &row, 1);
		}
		jpeg_finish_decompress(&d);
		sum += out[0];
		jpeg_destroy_decompress(&d);
		t[it] = now_ns() - t0;
		total += t[it];
	}
	qsort(t, iters, sizeof(long long), cmp);
	printf("%lld %lld %lu\n", iters > 0 ? t[iters / 2] : 0, total, sum);
	return 0;
}
