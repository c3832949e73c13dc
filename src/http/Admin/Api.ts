import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import {
  ApiKeyIdFromPath,
  ApiKeyNotFound,
  ApiKeySummary,
  CreateApiKey,
  InvalidRequest,
  IssuedApiKey
} from "../../domain/ApiKey.js"
import { Text } from "../../domain/Text.js"
import { InternalAuthentication } from "../Auth/Api.js"

const create = <Name extends string>(name: Name, path: `/${string}`) =>
  HttpApiEndpoint.post(name, path)
    .setPayload(CreateApiKey)
    .addSuccess(IssuedApiKey, { status: 201 })
    .addError(InvalidRequest)

export class AdminApi extends HttpApiGroup.make("admin")
  .add(create("createApiKey", "/api-keys").annotate(OpenApi.Summary, "Issue an API key (the plaintext is shown once)"))
  .add(create("createApiKeyLegacy", "/create-api-key").annotate(OpenApi.Summary, "Alias of POST /internal/api-keys"))
  .add(
    HttpApiEndpoint.get("listApiKeys", "/api-keys")
      .setUrlParams(Schema.Struct({ user_email: Text }))
      .addSuccess(Schema.Array(ApiKeySummary))
  )
  .add(
    HttpApiEndpoint.post("revokeApiKey")`/api-keys/${ApiKeyIdFromPath}/revoke`.addSuccess(ApiKeySummary).addError(
      ApiKeyNotFound
    )
  )
  .add(
    HttpApiEndpoint.post("rotateApiKey")`/api-keys/${ApiKeyIdFromPath}/rotate`
      .addSuccess(IssuedApiKey)
      .addError(ApiKeyNotFound)
      .annotate(OpenApi.Summary, "New secret for the same key; the old one stops working at once")
  )
  .middleware(InternalAuthentication)
  .prefix("/internal")
  .annotate(OpenApi.Title, "Admin")
{}
