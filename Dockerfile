FROM node:20-bookworm-slim

WORKDIR /app

# tsx is a runtime dependency: the service runs its TypeScript sources directly.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json schema.graphql ./
COPY src ./src

# DATA_DIR (./.data) is only written without DATABASE_URL / SECRET_KEY (never in production),
# but give the unprivileged user somewhere to write if the image is run that way.
RUN mkdir -p /app/.data && chown node:node /app/.data

USER node
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
EXPOSE 4000

# Exec form with no npm or shell in between: node is PID 1, receives SIGTERM itself and shuts down gracefully.
CMD ["node", "--import", "tsx", "src/main.ts"]
