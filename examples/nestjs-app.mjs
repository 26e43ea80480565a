/**
 * The Nest module shared by examples/nestjs-express.mjs and
 * examples/nestjs-fastify.mjs. Plain JavaScript has no decorator syntax, so
 * the decorators are applied as functions; in TypeScript this is
 *
 *   @Controller()
 *   class AppController {
 *     @Get('/') index(@Req() req) { ... }
 *   }
 *   @Module({ controllers: [AppController] })
 *   class AppModule {}
 */
import 'reflect-metadata'
import { Controller, Get, Module, Req } from '@nestjs/common'

class AppController {
  // req is the platform's request: proxy-aware has set ip, protocol, host
  index(req) {
    return { ip: req.ip, protocol: req.protocol, host: req.host }
  }
}
Get('/')(AppController.prototype, 'index', Object.getOwnPropertyDescriptor(AppController.prototype, 'index'))
Req()(AppController.prototype, 'index', 0)
Controller()(AppController)

export class AppModule {}
Module({ controllers: [AppController] })(AppModule)
