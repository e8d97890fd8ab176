import { ApiProperty } from '@nestjs/swagger';

export class ProtectedUserDto {
  @ApiProperty({ description: 'User id (UUID)', example: '0b6f8f4e-3c1a-4b8e-9a63-5f1d2c7e9a10' })
  id!: string;

  @ApiProperty({ description: 'Email of the signed-in user', example: 'abc@abc.com' })
  email!: string;
}

export class ProtectedResponseDto {
  @ApiProperty({
    description: 'A greeting for the token holder',
    example: 'Hello, abc@abc.com! You have access to this protected route.',
  })
  message!: string;

  @ApiProperty({ description: 'Who the access token belongs to', type: ProtectedUserDto })
  user!: ProtectedUserDto;
}

export class MessageResponseDto {
  @ApiProperty({ description: 'What happened', example: 'Token has been revoked' })
  message!: string;
}
