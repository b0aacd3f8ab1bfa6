# R's lme4 on the benchmark's CSV, the whole process as a user runs it (bench_perf.py times it):
#   Rscript benchmarks/lme4_fit.R big.csv
# reads the CSV, fits income ~ years_after_grad * major + (years_after_grad | person) by REML
# and prints the log-likelihood and the fixed effects.
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(lme4))
d <- read.csv(args[1])
m <- lmer(income ~ years_after_grad * major + (years_after_grad | person), data = d, REML = TRUE)
cat(sprintf("loglik %.6f\n", as.numeric(logLik(m))))
print(fixef(m), digits = 10)
