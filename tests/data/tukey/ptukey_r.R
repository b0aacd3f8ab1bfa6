# Reference values of R's ptukey for tests/test_tukey.py (mixed_core/tukey.py is a port of it).
# Run from this folder: Rscript ptukey_r.R  (writes ptukey_r.csv)
grid <- expand.grid(q = c(0.05, 0.3, 1, 1.7, 2.5, 3.3, 4, 5.5, 7, 10, 14, 17, 25),
                    nmeans = c(2, 3, 4, 6, 10),
                    df = c(2, 3, 5, 10, 30, 99.5, 100, 150, 800, 801, 4000, 6000, 24000, 26000, 1e5, Inf))
grid$nranges <- 1
grid$upper <- ptukey(grid$q, grid$nmeans, grid$df, nranges = 1, lower.tail = FALSE)
grid$lower <- ptukey(grid$q, grid$nmeans, grid$df, nranges = 1, lower.tail = TRUE)
extra <- data.frame(q = c(3, 3, 4.5), nmeans = c(3, 4, 3), df = c(20, 50, 1e4), nranges = c(2, 3, 2))
extra$upper <- ptukey(extra$q, extra$nmeans, extra$df, nranges = extra$nranges, lower.tail = FALSE)
extra$lower <- ptukey(extra$q, extra$nmeans, extra$df, nranges = extra$nranges, lower.tail = TRUE)
out <- rbind(grid, extra)
for (col in c("upper", "lower")) out[[col]] <- sprintf("%.17g", out[[col]])
write.csv(out, "ptukey_r.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "\n")
