# syntax=docker/dockerfile:1
# Build stage: dev dependencies and the TypeScript compiler.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY checks ./checks
RUN npm ci --ignore-scripts && npx tsc -p tsconfig.build.json && npm prune --omit=dev

# Runtime stage: production dependencies and compiled JavaScript only, as the unprivileged node user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 9469
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
